"""The work done for a tenant (a client shop), one subpackage per duty."""
