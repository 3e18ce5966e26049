"""`cloud: gcp`: its keys (`settings.py`), its adapter's steps (`cloud.py`: a VPC, GKE, Cloud SQL), what each
instance gets (`instances.py`: a Memorystore, a GCS bucket) and pure values (`values.py`)."""
