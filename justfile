# Thin recipes over `cargo xtask`; the xtask holds the logic.

# Formatting, lints, unit tests and smoketests: what CI runs.
qa:
    cargo xtask qa

# Run the smoketests (arguments are passed through, e.g. `just smoketest sql:: -j 4`).
smoketest *args:
    cargo xtask smoketest {{args}}

# Build everything the smoketests need.
warmup:
    cargo xtask warmup

# Measure the smoke-test machinery.
bench:
    cargo xtask bench

# Check the tree's hygiene rules.
tidy:
    cargo xtask tidy
