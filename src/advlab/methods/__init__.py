"""Domain adaptation methods: each turns a source and a target batch into a training loss."""
