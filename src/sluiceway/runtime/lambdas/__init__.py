"""lambdas"""
