"""Services: one module per job, each composing core building blocks with the stores."""
