import numpy as np
from PIL import Image

from advlab.cli import main
from advlab.data import list_domains


def test_data_list_names_every_domain(capsys):
    assert main(["data", "list"]) == 0
    output = capsys.readouterr().out
    for info in list_domains():
        assert info.name in output
    assert "needs --data-root" in output
    assert "10,000" in output  # syndigits train size


def test_data_show_writes_png(tmp_path, capsys, data_cache):
    out = tmp_path / "figures" / "optdigits.png"
    assert main(["data", "show", "optdigits", "--out", str(out), "--n", "16", "--split", "test"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    with Image.open(out) as image:
        width, height = image.size
        pixels = np.asarray(image.convert("RGB"))
    assert 200 <= width <= 1000
    assert 200 <= height <= 1000
    assert pixels.std() > 10  # a drawn grid, not a blank page


def test_data_show_custom_folder(tmp_path, capsys):
    folder = tmp_path / "custom"
    (folder / "train").mkdir(parents=True)
    Image.fromarray(np.full((20, 20), 255, dtype=np.uint8)).save(folder / "train" / "a.png")
    (folder / "train.csv").write_text("image_name,label\na.png,4\n")
    out = tmp_path / "custom.png"
    assert main(["data", "show", str(folder), "--out", str(out)]) == 0
    assert out.is_file()


def test_data_show_unknown_domain(tmp_path, capsys):
    status = main(["data", "show", "no-such-domain", "--out", str(tmp_path / "x.png")])
    assert status == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "unknown domain 'no-such-domain'" in error
    assert not (tmp_path / "x.png").exists()


def test_data_show_unwritable_out(tmp_path, capsys, data_cache):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    status = main(["data", "show", "optdigits", "--out", str(blocker / "grid.png"), "--n", "4"])
    assert status == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "grid.png" in error


def test_data_show_rejects_bad_n(tmp_path, capsys):
    assert main(["data", "show", "optdigits", "--out", str(tmp_path / "x.png"), "--n", "0"]) == 2
    assert "--n 0" in capsys.readouterr().err
