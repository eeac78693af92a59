"""arc-preflight: find why an Azure Arc-enabled server cannot connect, before and after it tries."""

__version__ = "0.1.0"
