"""One Open edX instance: its settings (compiled by Tutor), secrets, values and Helm releases."""
