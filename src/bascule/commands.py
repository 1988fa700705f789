"""Registers the subcommands on the click group (each lives next to the library code it calls)."""
