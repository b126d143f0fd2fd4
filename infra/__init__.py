"""The deploy side of the project: config renderers, the Pulumi program and the local stack."""
