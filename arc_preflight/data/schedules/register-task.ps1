# Registers the arc-preflight health check as a scheduled task (run in an elevated PowerShell).
# Usage: .\register-task.ps1 [-Exe "C:\Program Files\arc-preflight\arc-preflight.exe"]
param(
    [string]$Exe = "$env:ProgramFiles\arc-preflight\arc-preflight.exe",
    [string]$Xml = (Join-Path $PSScriptRoot "arc-preflight-task.xml")
)
$ErrorActionPreference = "Stop"
if (-not ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole(
        [Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw "Run this script from an elevated PowerShell session."
}
if (-not (Test-Path $Exe)) { throw "arc-preflight not found at $Exe (pass -Exe)." }
New-Item -ItemType Directory -Force -Path "$env:ProgramData\arc-preflight" | Out-Null
# The event log source for --syslog (eventcreate uses the Application log).
$definition = (Get-Content -Raw -Path $Xml).Replace('%ProgramFiles%\arc-preflight\arc-preflight.exe', $Exe)
Register-ScheduledTask -TaskName "arc-preflight" -Xml $definition -Force | Out-Null
Write-Output "Registered task 'arc-preflight'; see it with: Get-ScheduledTask arc-preflight"
