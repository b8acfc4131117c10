"""One module per mode of the app. No screen module imports another: shared flows live in `ui.flows`."""
