"""Builds the one C extension, the Avro reader and template writer
(gateway/envelope/binary/_native.pyx).

Everything else is in pyproject.toml. The extension is optional: where it cannot be built (no
Cython, no C compiler, no Python headers) the install goes on and the gateway reads and writes
Avro with its generated Python code (gateway.envelope.binary.native).
"""

import sys

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # a build without its build requirements (--no-build-isolation)
    print("Cython is missing: the C reader is not built", file=sys.stderr)
    extensions = []
else:
    extensions = cythonize(
        [
            Extension(
                "gateway.envelope.binary._native",
                ["gateway/envelope/binary/_native.pyx"],
                optional=True,
            )
        ],
        compiler_directives={"language_level": "3"},
    )

setup(ext_modules=extensions)
