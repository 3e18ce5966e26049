"""`cloud: azure`: its keys (`settings.py`) and its adapter (`cloud.py`): a VNet, AKS, MySQL Flexible Server, Blob
storage, optional Azure Managed Redis."""
