"""How a CV's text is read wherever it comes from: contact patterns, the Markdown read into blocks."""
