"""`cloud: gcp`: its keys (`settings.py`) and its adapter (`cloud.py`): a VPC, GKE, Cloud SQL, GCS, optional
Memorystore."""
