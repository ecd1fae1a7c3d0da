"""The emulator's shared machinery: its memory, fault injection, the control API, fake-data maths,
Google's message types as a schema, and the table of API versions the emulated hosts still serve.
"""
