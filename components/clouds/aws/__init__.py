"""`cloud: aws`: its keys (`settings.py`), its adapter's steps (`cloud.py`: a VPC, EKS, RDS, optional DocumentDB),
what each instance gets (`instances.py`: an ElastiCache group, an S3 bucket) and pure values (`values.py`)."""
