# cython: language_level=3
"""The hashes taken per record, in C: SHA-256 of a fixed prefix and then a message, on OpenSSL's
libcrypto, from a state taken once after the prefix and copied per message
(:mod:`gateway.envelope.digests`); and Kafka's murmur2 of a record key, which picks its
partition (:mod:`gateway.transport.partitioning`)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint32_t


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


def murmur2(key):
    """The Java client's ``Utils.murmur2`` of ``key`` (bytes), as an unsigned 32-bit int: what
    ``aiokafka.partitioner.murmur2`` gives."""
    cdef bytes data = key if type(key) is bytes else bytes(key)
    cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(data)
    cdef Py_ssize_t length = PyBytes_GET_SIZE(data), i
    cdef uint32_t m = 0x5BD1E995, k
    cdef uint32_t h = 0x9747B28C ^ <uint32_t>length
    for i in range(0, length - length % 4, 4):
        k = p[i] | (<uint32_t>p[i + 1] << 8) | (<uint32_t>p[i + 2] << 16) | (<uint32_t>p[i + 3] << 24)
        k *= m
        k ^= k >> 24
        k *= m
        h *= m
        h ^= k
    i = length & ~3
    if length % 4 >= 3:
        h ^= <uint32_t>p[i + 2] << 16
    if length % 4 >= 2:
        h ^= <uint32_t>p[i + 1] << 8
    if length % 4 >= 1:
        h ^= p[i]
        h *= m
    h ^= h >> 13
    h *= m
    h ^= h >> 15
    return h
