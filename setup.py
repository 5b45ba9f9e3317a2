"""Builds the one C extension, the Avro reader (gateway/envelope/binary/_native.pyx).

Everything else is in pyproject.toml. The extension is optional: where it cannot be built (no C
compiler, no Python headers) the install goes on and the gateway reads Avro with its generated
Python readers (gateway.envelope.binary.native).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "gateway.envelope.binary._native",
                ["gateway/envelope/binary/_native.pyx"],
                optional=True,
            )
        ],
        compiler_directives={"language_level": "3"},
    )
)
