"""The offline tools: the real program evaluated under deterministic mocks (no engine, cloud or cluster), and
`python -m offline.render`, which writes what a stack would deploy. Not part of what `pulumi up` runs."""
