"""The network lab: loopback-only namespaces with real DNS, TLS, proxy and HIMDS stand-ins.

``netlab`` is the library (the ``Lab`` class), ``standin`` the server process it runs inside
namespaces, ``conftest`` the pytest fixtures. See DESIGN.md section 5.
"""
