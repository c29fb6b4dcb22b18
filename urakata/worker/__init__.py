"""RQ workers: connection, queues and the job entry points (thin; they call tenants/)."""
