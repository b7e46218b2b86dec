"""The binding's machinery: version, threads, progress, errors."""
import logging
import subprocess

import numpy as np
import pytest

import ltr


def test_version_equals_the_command(ltr_binary):
    out = subprocess.run([ltr_binary, "--version"], capture_output=True, text=True, check=True)
    assert ltr.__version__ in out.stdout.split()
    assert ltr.__version__.count(".") == 2


def test_usable_cores_is_at_least_one():
    assert ltr.usable_cores() >= 1
