"""Builds the two C extensions: the Avro reader and template writer
(gateway/envelope/binary/_native.pyx), and the hashes taken per record (gateway/_hashes.pyx:
prefixed SHA-256 on OpenSSL's libcrypto, and Kafka's murmur2 partitioner hash).

Everything else is in pyproject.toml. Both are optional: where one cannot be built (no Cython,
no C compiler, no Python or OpenSSL headers) the install goes on and the gateway uses the Python
code each falls back to (gateway.envelope.binary.native, gateway.envelope.digests,
gateway.transport.partitioning).
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
                "gateway._hashes",
                ["gateway/_hashes.pyx"],
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
