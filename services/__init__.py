"""Use cases shared by the web pages and the CLI: enrollment, links, answers."""
