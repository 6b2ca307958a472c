"""The console's pages, one module each; importing ``chalicelib.console.routes`` registers them."""
