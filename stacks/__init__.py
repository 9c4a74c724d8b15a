"""The iot-faas platform library: config, naming, broker, dashboard and Nuclio functions."""
