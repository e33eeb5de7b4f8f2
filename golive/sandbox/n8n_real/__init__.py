"""The sandbox's real n8n: where it is installed (`install`), how it runs on loopback from a
migrated user-folder template (`process`), how it is set up without its UI (`admin`), and the
instance that holds one workflow per organisation and switches workflow faults (`instance`)."""
