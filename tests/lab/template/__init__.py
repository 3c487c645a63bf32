"""Tests of the CloudFormation template, its loader and its explanation."""
