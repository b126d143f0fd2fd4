"""The local stack: the same configuration the Pulumi program deploys, run as local processes.

`python -m infra.local up` (what `make up` runs) and the integration tests' fixture both use
`infra.local.stack.LocalStack`.
"""
