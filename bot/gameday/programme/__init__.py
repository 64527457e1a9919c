"""The programme report: game days, findings and bookings across quarters (`sce report`)."""
