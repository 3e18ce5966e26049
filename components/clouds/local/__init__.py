"""`cloud: local`: its keys (`settings.py`) and its adapter (`cloud.py`): any cluster in a kubeconfig."""
