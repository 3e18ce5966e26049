"""`cloud: aws`: its keys (`settings.py`), its adapter's steps (`cloud.py`: a VPC, EKS, RDS, optional DocumentDB),
what each instance gets (`instances.py`: an ElastiCache group, an S3 bucket), pure values (`values.py`) and what is
pinned of the cluster autoscaler (`autoscaler.py`)."""
