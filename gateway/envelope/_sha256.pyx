# cython: language_level=3
"""SHA-256 of a fixed prefix and then a message, in C: OpenSSL's libcrypto, from a hash state
taken once after the prefix and copied per message (:mod:`gateway.envelope.digests`)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE


cdef extern from "openssl/sha.h":
    ctypedef struct SHA256_CTX:
        pass
    int SHA256_Init(SHA256_CTX *state) nogil
    int SHA256_Update(SHA256_CTX *state, const void *data, size_t size) nogil
    int SHA256_Final(unsigned char *digest, SHA256_CTX *state) nogil


cdef class PrefixedSha256:
    """``digest(message)`` is ``hashlib.sha256(prefix + message).digest()``."""

    cdef SHA256_CTX _start

    def __cinit__(self, bytes prefix not None):
        SHA256_Init(&self._start)
        SHA256_Update(&self._start, PyBytes_AS_STRING(prefix), PyBytes_GET_SIZE(prefix))

    def digest(self, message):
        cdef SHA256_CTX state = self._start
        cdef unsigned char out[32]
        cdef bytes data = message if type(message) is bytes else bytes(message)
        SHA256_Update(&state, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        SHA256_Final(out, &state)
        return PyBytes_FromStringAndSize(<char *>out, 32)
