"""Entry point of `pulumi up`: everything lives in the importable `components` package."""

from components import program

program.main()
