"""Binds every .feature file in this folder; the steps live in steps/ (see conftest.py)."""

from pytest_bdd import scenarios

scenarios(".")
