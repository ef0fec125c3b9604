"""Lumo's built-in plugins: one package per data category, plus LINE friends and write-back.

Every module inside each package is registered as its own plugin by `lumo.plugin_manager`.
"""
