"""lfchaos - pieces of the logferry chaos suite (tests/chaos/chaos.py drives them).

writer: the log-writing application; brokers: mock-kafka and rabbitmq-server nodes;
consumers: live readers that record every line id; agent: the logferry process and its
config; events: the fault classes; ledger: the final accounting of written vs delivered.
"""
