"""`cloud: aws`: its keys (`settings.py`) and its adapter (`cloud.py`): a VPC, EKS, RDS, S3, optional ElastiCache
and DocumentDB."""
