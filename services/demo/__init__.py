"""The embedded demo: the whole pipeline in one process, from generated permits to tier files."""
