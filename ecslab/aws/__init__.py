"""One module per AWS service; botocore errors do not leak past them."""
