"""What read-only commands show: status, logs, explain. They read through lab/ and aws/
and render through the UI; no lab step imports them.
"""
