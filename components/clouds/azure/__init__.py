"""`cloud: azure`: its keys (`settings.py`), its adapter's steps (`cloud.py`: a VNet, AKS, MySQL Flexible Server),
what each instance gets (`instances.py`: an Azure Managed Redis, a storage account) and pure values (`values.py`)."""
