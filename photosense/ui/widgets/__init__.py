"""The main window's widgets: grid, search bar, sidebar, details panel, status bar parts, empty state."""
