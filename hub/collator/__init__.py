"""The collator: assembles MASH information packages on time, chases late agencies."""
