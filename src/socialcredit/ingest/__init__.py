"""Reading agency files and validating their rows against the policy pack."""
