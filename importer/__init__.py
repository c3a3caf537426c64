"""importer: put a term's schedule of Zoom class meetings into LMS courses through LTI Pro."""

__version__ = "0.1.0"
