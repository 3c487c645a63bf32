"""The Docker engine and image registries: building, pushing, reading manifests.

Above core only; the AWS side of images (ECR) lives in `ecslab.aws.ecr`.
"""
