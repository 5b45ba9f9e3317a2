"""Builds the two C extensions: the Avro reader and template writer
(gateway/envelope/binary/_native.pyx) and prefixed SHA-256 on OpenSSL's libcrypto
(gateway/envelope/_sha256.pyx).

Everything else is in pyproject.toml. Both are optional: where one cannot be built (no Cython,
no C compiler, no Python or OpenSSL headers) the install goes on and the gateway uses the Python
code each falls back to (gateway.envelope.binary.native, gateway.envelope.digests).
"""

import sys

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # a build without its build requirements (--no-build-isolation)
    print("Cython is missing: the C extensions are not built", file=sys.stderr)
    extensions = []
else:
    extensions = cythonize(
        [
            Extension(
                "gateway.envelope.binary._native",
                ["gateway/envelope/binary/_native.pyx"],
                optional=True,
            ),
            Extension(
                "gateway.envelope._sha256",
                ["gateway/envelope/_sha256.pyx"],
                libraries=["crypto"],
                # SHA256_Init and the rest are deprecated in OpenSSL 3 in favour of EVP; their
                # state is a plain struct, copied per message without an allocation
                extra_compile_args=["-Wno-deprecated-declarations"],
                optional=True,
            ),
        ],
        compiler_directives={"language_level": "3"},
    )

setup(ext_modules=extensions)
