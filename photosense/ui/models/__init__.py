"""Qt item models: what the views show, filled by the controller and the dialogs."""
