"""Sending and receiving SMS: the only package that imports twilio (enforced by import-linter).

``gateway``: the interface, message types, console gateway and factory; ``twilio``: the Twilio
client, error sorting, retries' outcomes; ``webhook``: signature check and TwiML.
"""
