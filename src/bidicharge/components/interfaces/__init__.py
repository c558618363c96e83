"""In-memory message contracts of interfaces whose wire protocol has not landed yet.

Each module holds the messages of one interface as frozen dataclasses. Components exchange
them over `Link.request` (traced with protocol "in-memory"); when the interface's protocol
core lands (ISO 15118-20 for I-01, EEBUS for I-03/I-08/I-47, REST for I-45), the component
speaks that protocol instead and these contracts are retired.
"""
